// Package charts holds no code: its tests check the packaging. They lint and render the Helm chart in
// scim-gateway/ through the helm.sh/helm/v3 library (no helm binary needed), decode every rendered
// manifest into Kubernetes' own API types with unknown fields refused, load the rendered gateway
// configuration with the project's config loader, and check the Dockerfile at the repository root
// against the image rules (pinned bases, cached module layer, static non-root runtime) and build its
// `go build` command.
package charts
