package config

import "encoding/base64"

// Secrets returns the input values that must be masked in the job log:
// the registry password, and user:password in base64 as a registry's
// Basic authorization header and Docker's config.json carry it, in case an
// answer or an error message echoes that form; a fleet's SSH private key
// and TLS client key; the values of health-headers (a token the health
// endpoint wants). It reads the inputs as Parse does, so a caller can
// mask them before Parse runs or when it fails.
func Secrets(getenv Getenv) []string {
	in := reader{getenv: getenv}
	var secrets []string
	if password := in.get("registry-password"); password != "" {
		secrets = append(secrets, password)
		if user := in.get("registry-username"); user != "" {
			secrets = append(secrets, base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
		}
	}
	for _, name := range []string{"ssh-private-key", "docker-tls-key"} {
		if v := in.get(name); v != "" {
			secrets = append(secrets, v)
		}
	}
	secrets = append(secrets, headerSecrets(in.get("health-headers"))...)
	return secrets
}
