package hosthelper

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	idA = "7abc6bb234739a46d78677044627275904a89f779f4d758087b843cc49b5f597"
	idB = "1f37b1a9e72d8560adaddbed5892368951a5543d6d09421554757d441e5def82"
)

func TestCandidates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                    string
		cgroup, mountinfo, host string
		want                    []string
	}{
		{
			name:      "cgroup v1, cgroupfs driver",
			cgroup:    "12:pids:/docker/" + idA + "\n1:name=systemd:/docker/" + idA + "\n",
			mountinfo: "121 104 254:0 /var/lib/docker/containers/" + idA + "/resolv.conf /etc/resolv.conf rw - ext4 /dev/vda rw\n",
			host:      idA[:12],
			want:      []string{idA, idA[:12]},
		},
		{
			name:   "cgroup v2, systemd driver, host cgroup namespace",
			cgroup: "0::/system.slice/docker-" + idA + ".scope\n",
			want:   []string{idA},
		},
		{
			// act: the step container shares the job container's network,
			// and with it the job's hostname and resolv.conf.
			name:      "cgroup v2 private namespace, under act",
			cgroup:    "0::/\n",
			mountinfo: "900 800 254:0 /var/lib/docker/containers/" + idB + "/resolv.conf /etc/resolv.conf rw - ext4 /dev/vda rw\n901 800 254:0 /var/lib/docker/containers/" + idB + "/hosts /etc/hosts rw - ext4 /dev/vda rw\n",
			host:      "vm",
			want:      []string{idB},
		},
		{
			name:   "on a host",
			cgroup: "4:memory:/process_api/d526ede079a0e981b71e4406c122004f\n0::/\n",
			host:   "runner-01",
			want:   nil,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, candidates(c.cgroup, c.mountinfo, c.host))
		})
	}
}
