package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOperateInputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inputs map[string]string
		want   []string // parts of the one problem; none for valid inputs
	}{
		{"defaults", nil, nil},
		{"stage", map[string]string{"mode": "stage"}, nil},
		{"promote a staged deploy", map[string]string{"mode": "promote", "deploy-id": "20261129T172155Z-3fa9c2"}, nil},
		{"abort", map[string]string{"mode": "ABORT"}, nil},
		{"rollback to a deploy", map[string]string{"mode": "rollback", "to": "20261129T172155Z-3fa9c2"}, nil},
		{"rollback to Previous", map[string]string{"mode": "rollback", "to": "Previous"}, nil},
		{"a deploy id that is not one", map[string]string{"mode": "promote", "deploy-id": "latest"}, []string{`deploy-id "latest" is not a deploy id`}},
		{"deploy-id outside promote and abort", map[string]string{"deploy-id": "20261129T172155Z-3fa9c2"}, []string{"only read by mode: promote and mode: abort", "mode is deploy"}},
		{"to outside rollback", map[string]string{"to": "20261129T172155Z-3fa9c2"}, []string{"only read by mode: rollback"}},
		{"to that is not a deploy id", map[string]string{"mode": "rollback", "to": "v1.2.3"}, []string{`to "v1.2.3" is not valid`, "previous"}},
		{"retain-images below zero", map[string]string{"retain-images": "-1"}, []string{`retain-images "-1" is not a whole number of 0 or more`}},
		{"history-limit zero", map[string]string{"history-limit": "0"}, []string{`history-limit "0" is not a positive whole number`}},
		{"unknown mode", map[string]string{"mode": "ship"}, []string{`mode "ship" is not valid`, "stage, promote, abort, history"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, got := problems(t, tt.inputs)
			requireProblem(t, got, tt.want...)
		})
	}
}

func TestHealthStartInterval(t *testing.T) {
	t.Parallel()
	cfg, got := problems(t, nil)
	requireProblem(t, got)
	require.Equal(t, 25*time.Millisecond, cfg.Health.StartInterval)
	cfg, got = problems(t, map[string]string{"health-interval": "10ms"})
	requireProblem(t, got)
	require.Equal(t, 10*time.Millisecond, cfg.Health.StartInterval, "never longer than health-interval")
	_, got = problems(t, map[string]string{"health-start-interval": "0"})
	requireProblem(t, got, "health-start-interval")
}

func TestHistoryNeedsNoCheckout(t *testing.T) {
	t.Parallel()
	_, got := problems(t, map[string]string{"mode": "history", "compose-file": "not-checked-out.yml"})
	requireProblem(t, got)
}
