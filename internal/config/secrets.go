package config

import "encoding/base64"

// Secrets returns the input values that must be masked in the job log:
// the registry password, and user:password in base64 as a registry's
// Basic authorization header and Docker's config.json carry it, in case an
// answer or an error message echoes that form. It reads the inputs as Parse
// does, so a caller can mask them before Parse runs or when it fails.
func Secrets(getenv Getenv) []string {
	in := reader{getenv: getenv}
	password := in.get("registry-password")
	if password == "" {
		return nil
	}
	secrets := []string{password}
	if user := in.get("registry-username"); user != "" {
		secrets = append(secrets, base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	}
	return secrets
}
