package cli

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/hosthelper"
)

// handover is the JSON a launcher or a fleet's runner writes to a helper's
// stdin.
func handover(t *testing.T, h hosthelper.Handover) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, hosthelper.WriteHandover(&b, h))
	return &b
}

// TestRoleOfEnvironment: each environment a process can start in plays
// exactly one role, and the order of the checks decides the overlaps: a
// helper is whatever its handover asks for, even with a hosts input in
// its environment; a hosts input keeps the coordinator in the action
// container; only a GitHub Actions step in a container, with hoisting on,
// launches a helper.
func TestRoleOfEnvironment(t *testing.T) {
	t.Parallel()
	helper := map[string]string{hosthelper.EnvRole: "helper"}
	actions := map[string]string{"GITHUB_ACTIONS": "true"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name     string
		env      map[string]string
		handover *hosthelper.Handover
		inDocker bool
		want     Role
	}{
		{"a binary on a host", map[string]string{}, nil, false, RoleDeploy},
		{"a binary in a container outside Actions", map[string]string{}, nil, true, RoleDeploy},
		{"an Actions step on the host itself", actions, nil, false, RoleDeploy},
		{"an action container", actions, nil, true, RoleLauncher},
		{"an action container with hoisting off", with(actions, hosthelper.EnvHoist, "off"), nil, true, RoleDeploy},
		{"hoisting OFF in capitals", with(actions, hosthelper.EnvHoist, "OFF"), nil, true, RoleDeploy},
		{"GITHUB_ACTIONS other than true", map[string]string{"GITHUB_ACTIONS": "1"}, nil, true, RoleDeploy},
		{"a fleet's coordinator in an action container", with(actions, "INPUT_HOSTS", "ssh://deploy@10.0.1.11"), nil, true, RoleFleet},
		{"a fleet's coordinator on a host", map[string]string{"INPUT_HOSTS": "tcp://10.0.1.11:2376"}, nil, false, RoleFleet},
		{"a blank hosts input", with(actions, "INPUT_HOSTS", " \n "), nil, true, RoleLauncher},
		{"the launcher's helper", helper, &hosthelper.Handover{}, false, RoleHostHelper},
		{"a helper in a container with Actions' variables", with(helper, "GITHUB_ACTIONS", "true"), &hosthelper.Handover{}, true, RoleHostHelper},
		{"a fleet's deploy helper", helper, &hosthelper.Handover{ResultToken: "tok"}, false, RoleFleetHelper},
		{"a fleet's lock helper", helper, &hosthelper.Handover{ResultToken: "tok", Lock: &hosthelper.FleetLock{Project: "app"}}, false, RoleFleetLock},
		{"a helper with hosts in its own environment", with(helper, "INPUT_HOSTS", "ssh://deploy@10.0.1.11"), &hosthelper.Handover{}, true, RoleHostHelper},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := roleOf(tc.env, tc.handover, func() bool { return tc.inDocker })
			require.Equal(t, tc.want, got)
		})
	}
}

// TestRoleOfAsksForDockerOnlyForALaunch: whether this process is in a
// container (a stat of /.dockerenv) is asked only when the rest of the
// environment would launch a helper.
func TestRoleOfAsksForDockerOnlyForALaunch(t *testing.T) {
	t.Parallel()
	asked := 0
	inDocker := func() bool { asked++; return true }
	roleOf(map[string]string{}, nil, inDocker)
	roleOf(map[string]string{"GITHUB_ACTIONS": "true", "INPUT_HOSTS": "tcp://h:2376"}, nil, inDocker)
	roleOf(map[string]string{hosthelper.EnvRole: "helper", "GITHUB_ACTIONS": "true"}, &hosthelper.Handover{}, inDocker)
	require.Zero(t, asked)
	roleOf(map[string]string{"GITHUB_ACTIONS": "true"}, nil, inDocker)
	require.Equal(t, 1, asked)
}

// TestRunPlaysOneRole: run reads a helper's handover from stdin before it
// decides, plays exactly the role roleOf names with what the handover
// brought, and returns that role's error unchanged.
func TestRunPlaysOneRole(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		environ []string
		stdin   func(t *testing.T) *bytes.Buffer
		want    Role
	}{
		{"deploy", []string{"PATH=/bin"}, nil, RoleDeploy},
		{"launcher", []string{"GITHUB_ACTIONS=true"}, nil, RoleLauncher},
		{"fleet", []string{"GITHUB_ACTIONS=true", "INPUT_HOSTS=ssh://deploy@10.0.1.11"}, nil, RoleFleet},
		{"host helper", []string{hosthelper.EnvRole + "=helper"}, func(t *testing.T) *bytes.Buffer {
			return handover(t, hosthelper.Handover{Env: map[string]string{"INPUT_MODE": "status"}})
		}, RoleHostHelper},
		{"fleet helper", []string{hosthelper.EnvRole + "=helper"}, func(t *testing.T) *bytes.Buffer {
			return handover(t, hosthelper.Handover{Env: map[string]string{"INPUT_MODE": "status"}, ResultToken: "tok"})
		}, RoleFleetHelper},
		{"fleet lock", []string{hosthelper.EnvRole + "=helper"}, func(t *testing.T) *bytes.Buffer {
			return handover(t, hosthelper.Handover{Env: map[string]string{"INPUT_MODE": "status"}, ResultToken: "tok", Lock: &hosthelper.FleetLock{Project: "app"}})
		}, RoleFleetLock},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var played []Role
			var arrived *hosthelper.Arrival
			errRole := errors.New("the role's own failure")
			fake := map[Role]roleFunc{}
			for r := range roles {
				fake[r] = func(_ context.Context, p *process) error {
					played = append(played, r)
					arrived = p.arrival
					return errRole
				}
			}
			opts := Options{Environ: tc.environ, Stdout: &bytes.Buffer{}}
			if tc.stdin != nil {
				opts.Stdin = tc.stdin(t)
			}
			err := run(context.Background(), opts, dispatch{roles: fake, inDocker: func() bool { return true }})
			require.ErrorIs(t, err, errRole)
			require.Equal(t, []Role{tc.want}, played)
			if tc.stdin == nil {
				require.Nil(t, arrived, "only a helper reads a handover")
				return
			}
			require.NotNil(t, arrived)
			require.Equal(t, "status", arrived.Handover.Env["INPUT_MODE"], "the role gets the handed-over environment")
		})
	}
}

// TestEveryRoleIsPlayed: the dispatch has a function for every role.
func TestEveryRoleIsPlayed(t *testing.T) {
	t.Parallel()
	for _, r := range []Role{RoleDeploy, RoleLauncher, RoleHostHelper, RoleFleetHelper, RoleFleetLock, RoleFleet} {
		require.NotNil(t, roles[r], "role %s", r)
	}
	require.Len(t, roles, 6)
}

// TestHelperWithoutHandoverPlaysNoRole: a helper container started by hand
// has no handover on its stdin: it says so and plays no role (exit 1).
func TestHelperWithoutHandoverPlaysNoRole(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	played := false
	fake := map[Role]roleFunc{}
	for r := range roles {
		fake[r] = func(context.Context, *process) error { played = true; return nil }
	}
	err := run(context.Background(), Options{Environ: []string{hosthelper.EnvRole + "=helper"}, Stdin: strings.NewReader(""), Stdout: &out}, dispatch{roles: fake, inDocker: func() bool { return true }})
	require.ErrorIs(t, err, hosthelper.ErrNoHandover)
	require.False(t, played)
	require.Equal(t, ExitFailed, ExitCode(err))
	require.Contains(t, out.String(), "Hoist to the host: no handover on stdin")
}

// TestExitCode: the one mapping from a role's error to the exit code.
func TestExitCode(t *testing.T) {
	t.Parallel()
	cause := errors.New("boom")
	cases := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, ExitOK},
		{"a failed deploy", cause, ExitFailed},
		{"a failed deploy, wrapped", &deploy.PhaseError{Phase: "Health check", Err: cause}, ExitFailed},
		{"invalid inputs", invalid(cause), ExitInvalid},
		{"invalid inputs, wrapped again", errors.Join(errors.New("context"), invalid(cause)), ExitInvalid},
		{"the sentinel itself", ErrInvalid, ExitInvalid},
		// Only the place that knows marks a failure invalid: finish does
		// for the deploy's config.ErrInvalid, runFleet only in preflight.
		{"config.ErrInvalid unmarked", config.ErrInvalid, ExitFailed},
		{"the helper's exit code", &ExitError{Code: ExitInvalid}, ExitInvalid},
		{"the helper killed", &ExitError{Code: 137}, 137},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, ExitCode(tc.err))
		})
	}
}

// TestInvalidKeepsTextAndChain: marking a failure invalid changes neither
// what is printed nor what errors.As finds, since a fleet's result line
// carries both.
func TestInvalidKeepsTextAndChain(t *testing.T) {
	t.Parallel()
	pe := &deploy.PhaseError{Phase: "Preflight", Err: config.ErrInvalid}
	err := invalid(pe)
	require.Equal(t, pe.Error(), err.Error())
	var got *deploy.PhaseError
	require.ErrorAs(t, err, &got)
	require.ErrorIs(t, err, config.ErrInvalid)
	require.ErrorIs(t, err, ErrInvalid)
}

// TestHelperThatCannotEnterTheHost: a helper whose chroot fails says so;
// a fleet's helpers (deploy and lock) also hand the runner a result line
// with the cause under their token, the launcher's helper does not.
func TestHelperThatCannotEnterTheHost(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		handover hosthelper.Handover
		line     bool
	}{
		{"host helper", hosthelper.Handover{}, false},
		{"fleet helper", hosthelper.Handover{ResultToken: "tok123"}, true},
		{"fleet lock", hosthelper.Handover{ResultToken: "tok123", Lock: &hosthelper.FleetLock{Project: "app"}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A root that does not exist: chroot fails for anyone.
			root := filepath.Join(t.TempDir(), "missing")
			var out bytes.Buffer
			code := Main(context.Background(), Options{
				Environ: []string{hosthelper.EnvRole + "=helper", hosthelper.EnvRoot + "=" + root},
				Stdin:   handover(t, tc.handover),
				Stdout:  &out,
			})
			require.Equal(t, ExitFailed, code)
			require.Contains(t, out.String(), "Hoist to the host: failed to chroot into the host's root at "+root)
			const line = `bluegreen-result tok123 {"mode":"","previous":"","active":"","elapsed_ms":0,"failure":{"cause":"no such file or directory"}}`
			if tc.line {
				require.Contains(t, out.String(), line+"\n")
			} else {
				require.NotContains(t, out.String(), "bluegreen-result")
			}
		})
	}
}
