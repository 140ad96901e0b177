package reconcile

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/scim-gateway/scim-gateway/translator"
)

// pages reads a whole portal list, size records a call, up to conc calls at once, and hands each page
// to consume in list order, one call at a time, with the list's latest count. It holds at most conc
// pages. It stops after a short page or once the count is reached, so a list that grows while it is
// read is read to its new end. The first error of list is returned.
func pages[T any](ctx context.Context, conc, size int, list func(context.Context, translator.Page) ([]T, int, error),
	consume func(page []T, total int)) error {
	first, total, err := list(ctx, translator.Page{Top: size})
	if err != nil {
		return err
	}
	consume(first, total)
	if len(first) < size || len(first) >= total {
		return nil
	}
	skip := size
	for {
		n := conc
		if need := (total - skip + size - 1) / size; need < n {
			n = max(need, 1)
		}
		got := make([][]T, n)
		totals := make([]int, n)
		err := forEach(ctx, n, n, func(ctx context.Context, i int) error {
			var err error
			got[i], totals[i], err = list(ctx, translator.Page{Top: size, Skip: skip + i*size})
			return err
		})
		if err != nil {
			return err
		}
		for i := range n {
			consume(got[i], totals[i])
			start, count := skip+i*size, len(got[i])
			got[i] = nil
			if count < size || start+count >= totals[i] {
				return nil
			}
			total = totals[i]
		}
		skip += n * size
	}
}

// forEach runs fn for 0..n-1 with at most conc running at once, and returns the first error (the
// context passed to fn is canceled after it).
func forEach(ctx context.Context, conc, n int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(conc, 1))
	for i := range n {
		g.Go(func() error { return fn(gctx, i) })
	}
	return g.Wait()
}
