package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// refuseUnincluded stops the deploy before anything is touched when
// nginx's loaded config (nginx -T) does not include the include at all:
// the switch would write, test and reload it, report success, and change
// nothing users see. An include in http context is not refused: that is
// where an upstream block goes, and only a warning says when no proxy_pass
// seems to use it. When nginx -T cannot be read (no -t in the test
// command, or a config that includes a file not written yet, as before a
// first deploy) the check is skipped: the switch's own nginx -t judges.
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
	case !in.InServer() && in.InHTTP():
		r.httpContext(path, in)
	}
	return nil
}

// httpContext looks at an include in http context, where an upstream block
// goes: nothing switches for users unless a proxy_pass uses it. That is
// only a warning, since a pass can name the upstream in ways a reading of
// the config cannot follow; verify-url, when set, shows it for sure.
func (r *run) httpContext(path string, in nginx.Inclusion) {
	if r.cfg.Nginx.VerifyURL != "" {
		return
	}
	rendered, err := r.tmpl.Render(r.templateData(r.plans[color.Blue], compose.Container{}))
	if err != nil {
		return
	}
	names := nginx.UpstreamNames(rendered)
	for _, n := range names {
		if in.Uses(n) {
			return
		}
	}
	if len(names) > 0 {
		r.d.Report.Warnf("%s is included in http context and defines upstream %s, but no proxy_pass in nginx's config (nginx -T) uses it, so switching it would change nothing users see: "+
			"proxy_pass http://%s in the server block, or set verify-url to confirm the switch through the front door", path, strings.Join(names, ", "), names[0])
		return
	}
	r.d.Report.Infof("%s is included in http context (%s): the switch is confirmed by nginx starting new workers; set verify-url to also see it through the front door", path, in.Chains[0])
}
