package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/fleet"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// runFleet rolls the deploy across the hosts input's hosts: this process
// only orchestrates; each host's deploy runs in a helper on that host
// (see package fleet).
func runFleet(ctx context.Context, cfg *config.Config, env map[string]string, opts Options, rep *report.Reporter) error {
	fail := func(title string, err error) error {
		rep.Errorf(title, "%v", err)
		return err
	}
	creds, err := fleet.NewCredentials(cfg.Fleet)
	if err != nil {
		return invalid(fail("Invalid inputs", err))
	}
	bundle, err := fleet.CollectFiles(cfg, env)
	if err != nil {
		return invalid(fail("Invalid inputs", err))
	}
	exe := opts.HelperBinary
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return fail("Fleet", fmt.Errorf("failed to find this process's own binary, which the helpers run on the hosts: %w", err))
		}
	}
	img, err := fleet.NewHelperImage(exe)
	if err != nil {
		return fail("Fleet", err)
	}
	drv := &fleet.Docker{
		Config:    cfg,
		Env:       env,
		Bundle:    bundle,
		Image:     img,
		Creds:     creds,
		Report:    rep,
		RolloutID: fleet.NewRolloutID(),
	}
	defer drv.Close()
	hosts := fleet.HostsOf(cfg.Fleet)
	rep.Infof("bluegreen: %s %s on %d hosts, %d at a time (fleet-failure: %s); %d files (%d KiB) travel to each host as rollout %s",
		cfg.Mode, cfg.ProjectName, len(hosts), cfg.Fleet.MaxParallel, cfg.Fleet.Failure, len(bundle.Files), bundle.Size>>10, drv.RolloutID)
	out := fleet.Rollout(ctx, hosts, drv, fleet.Options{
		Mode:        cfg.Mode,
		MaxParallel: cfg.Fleet.MaxParallel,
		Failure:     cfg.Fleet.Failure,
		Image:       cfg.Image,
		CanaryHosts: cfg.Canary.FleetHosts,
		CanaryHold:  cfg.Canary.Interval,
		Report:      rep,
	})
	if opts.OnFleet != nil {
		opts.OnFleet(out)
	}
	for _, kv := range out.Outputs() {
		if oerr := rep.Output(kv[0], kv[1]); oerr != nil {
			rep.Warnf("%v", oerr)
		}
	}
	if serr := rep.Summary(out.Summary(cfg.ProjectName)); serr != nil {
		rep.Warnf("%v", serr)
	}
	var fe *fleet.Error
	if errors.As(out.Err, &fe) {
		title := "Fleet " + string(fe.Step) + " failed"
		switch {
		case fe.Step == fleet.StepCancel:
			title = "Fleet rollout cancelled"
		case fe.Host != "" && fe.Phase != "":
			title = fmt.Sprintf("Deploy failed on %s: %s", fe.Host, fe.Phase)
		case fe.Host != "":
			title = fmt.Sprintf("Deploy failed on %s", fe.Host)
		}
		msg := fe.Error()
		if len(fe.Details) > 0 {
			msg += "\n" + strings.Join(fe.Details, "\n")
		}
		rep.Errorf(title, "%s", msg)
		if fe.Invalid && (fe.Step == fleet.StepPreflight || fe.Step == fleet.StepLock) {
			return invalid(out.Err)
		}
		return out.Err
	}
	if out.Err != nil {
		return fail("Fleet", out.Err)
	}
	rep.Infof("bluegreen: %s on %d hosts in %s", cfg.Mode, len(hosts), out.Elapsed.Round(time.Millisecond))
	return nil
}
