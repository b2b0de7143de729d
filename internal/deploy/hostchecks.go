package deploy

import (
	"context"
	"errors"

	"github.com/bluegreen-action/bluegreen/internal/config"
)

// hostChecks are the preflight's checks of the host itself, after the
// inputs and compose files passed: what would make a deploy fail halfway
// or succeed without effect, found while nothing is touched yet.
func (r *run) hostChecks(ctx context.Context) error {
	var problems []string
	for _, check := range []func(context.Context) error{r.refuseForeignColors, r.refuseUnincluded, r.refuseUncanaryable, r.partsPlatforms} {
		var v *config.ValidationError
		if err := check(ctx); errors.As(err, &v) {
			problems = append(problems, v.Problems...)
		} else if err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		return &config.ValidationError{Problems: problems}
	}
	return nil
}
