// Package docs holds the project's documents (Markdown); its test checks that the README, the
// documents and the chart's README link only to files of the repository that exist, and that nothing
// shipped points outside the repository.
package docs
