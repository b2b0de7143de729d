package deploy

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
)

// TestDescribeKept: a kept color is named by its deploy and its traffic
// service's image, wherever that service is in the list; without that
// service, by the first container's image; without containers, by
// nothing (and without a panic).
func TestDescribeKept(t *testing.T) {
	t.Parallel()
	worker := compose.Container{Service: "worker", Image: "app-worker:v1", DeployID: "d1"}
	web := compose.Container{Service: "web", Image: "app:v1", DeployID: "d1"}
	require.Equal(t, "blue (deploy d1, image app:v1)", describeKept(color.Blue, "web", []compose.Container{worker, web}))
	require.Equal(t, "green (deploy d1, image app-worker:v1)", describeKept(color.Green, "api", []compose.Container{worker, web}))
	require.Equal(t, "blue (deploy unknown, image )", describeKept(color.Blue, "web", nil))
}
