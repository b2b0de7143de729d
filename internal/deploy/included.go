package deploy

import (
	"context"
	"fmt"

	"github.com/bluegreen-action/bluegreen/internal/config"
)

// refuseUnincluded stops the deploy before anything is touched when
// nginx's loaded config (nginx -T) does not include the include at all:
// the switch would write, test and reload it, report success, and change
// nothing users see. An include in http context (an upstream block) is
// fine; what uses it is the server's business, and only verify-url can
// show it. When nginx -T cannot be read (no -t in the test command, or a
// config that includes a file not written yet, as before a first deploy)
// the check is skipped: the switch's own nginx -t judges then.
func (r *run) refuseUnincluded(ctx context.Context) error {
	path := r.cfg.Nginx.IncludePath
	in, err := r.d.Nginx.FindInclusion(ctx, path)
	if err != nil {
		r.d.Report.Infof("could not check that nginx's config includes %s: %v", path, err)
		return nil
	}
	switch {
	case in.Nowhere():
		problem := fmt.Sprintf("nginx's loaded config (nginx -T) does not include %s anywhere, so switching it would change nothing users see: "+
			"add `include %s;` to the server block that proxies to the app (with the default include: `proxy_pass $service_url;`), "+
			"check with `sudo nginx -t`, reload with `sudo nginx -s reload`, then deploy again; see the README's nginx setup", path, path)
		if r.cfg.Mode == config.ModeStatus {
			r.d.Report.Warnf("%s", problem)
			return nil
		}
		return &config.ValidationError{Problems: []string{problem}}
	case !in.InServer() && in.InHTTP() && r.cfg.Nginx.VerifyURL == "":
		r.d.Report.Infof("%s is included in http context (%s): the switch is confirmed by nginx starting new workers; set verify-url to also see it through the front door", path, in.Chains[0])
	}
	return nil
}
