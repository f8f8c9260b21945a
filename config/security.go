package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/twilio-billing-exporter/twilio_billing_exporter/twilio"
)

// ReadSecretFile reads the client secret from path, as loading does for
// client_secret_file: trimmed, and an error if empty. Errors never name the
// file nor quote its content.
func ReadSecretFile(path string) (Secret, error) {
	return readSecret(os.ReadFile, path)
}

func readSecret(readFile func(string) ([]byte, error), path string) (Secret, error) {
	data, err := readFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the file: %s (the value must be the path of a file holding the client secret)", readError(err))
	}
	secret := strings.TrimSpace(string(data))
	if secret == "" {
		return "", errors.New("the file is empty (want the client secret)")
	}
	return Secret(secret), nil
}

// readError says why a file could not be read without naming the file: the
// value of client_secret_file may be the secret itself, pasted by mistake.
func readError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "read failed"
}

// Warnings returns what is risky but valid in c, one sentence each, for the
// caller to log at every (re)load and --config.check to print: a
// client_secret_file that every user of the machine may read, each billing
// group without a name, whose ID (a credential) becomes its label, a budget
// beside a category filter, and an owner label the shipped alert rules do
// not route by.
func (c *Config) Warnings() []string {
	var ws []string
	for i, g := range c.BillingGroups {
		if g.Name == "" {
			ws = append(ws, fmt.Sprintf("billing_groups[%d] has no name: its ID (%s) will be exported in full as the billing_group label, and shown in logs and on the landing page; Twilio calls the ID a secure credential, so set name to export a name instead", i, twilio.MaskBillingGroupID(g.ID)))
		}
	}
	if f := c.Twilio.ClientSecretFile; f != "" {
		if fi, err := os.Stat(f); err == nil && fi.Mode().Perm()&0o004 != 0 {
			ws = append(ws, fmt.Sprintf("twilio.client_secret_file is readable by every user of this machine (mode %04o): restrict it, e.g. chmod 600 or 640", fi.Mode().Perm()))
		}
	}
	ws = append(ws, c.filteredBudgetWarnings()...)
	return append(ws, c.unroutedLabelWarnings()...)
}
