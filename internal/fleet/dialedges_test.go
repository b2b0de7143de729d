package fleet

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// TestHostKeyAlgorithmsUnresolvedName: a host named in known_hosts by a
// name this runner cannot resolve (it is reached by a jump host's or
// the SSH config's name) still has its key found by that name.
func TestHostKeyAlgorithmsUnresolvedName(t *testing.T) {
	t.Parallel()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	// A label of 64 characters is no DNS name: the resolver refuses it
	// at once, without asking a server.
	name := strings.Repeat("a", 64) + ".example"
	cb, err := parseKnownHosts(name + " " + key)
	require.NoError(t, err)
	algos, err := hostKeyAlgorithms(cb, endpoint(t, "ssh://deploy@"+name))
	require.NoError(t, err)
	require.Equal(t, []string{ssh.KeyAlgoED25519}, algos)
}

// TestCloseUnfinishedConn: a connection whose Docker client was never
// made (its SSH or TLS set-up failed) closes without a panic.
func TestCloseUnfinishedConn(t *testing.T) {
	t.Parallel()
	require.NotPanics(t, func() { (&conn{}).Close() })
}
