package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/core/audit"
)

func newAuditRotateKeyCommand(g *globalFlags) *cobra.Command {
	var keysDir, dir string
	cmd := &cobra.Command{
		Use:   "rotate-key [--keys-dir D] [--dir D]",
		Short: "Replace the audit signing key, keeping the old one to co-sign the hand-over",
		Long: `Rotate-key generates a new audit signing key (Ed25519, the name of the old one).
The old key stays in the keys directory as audit.key.retired-<UTC time> (0600),
its public key in the audit directory as audit.vkey.retired-<UTC time>; the new
public key replaces audit.vkey and is printed.

A proxy that is running keeps signing with the key it loaded. Each log records
the rotation when it is next opened: a key_rotated record naming the new public
key, and a checkpoint signed by the old and the new key, from which 'audit verify'
with only the old public key learns the new one. Keep the retired key until
every log has been reopened; copy the new public key wherever you keep a copy of
audit.vkey. Rotation does not change the HMAC key of redacted values.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keysDir == "" || dir == "" {
				cfg, err := loadConfig(g.configPath)
				if err != nil {
					return err
				}
				if keysDir == "" {
					keysDir = cfg.AuditKeysDir()
				}
				if dir == "" {
					dir = cfg.AuditDir()
				}
			}
			rot, err := audit.RotateKey(keysDir, dir, time.Now())
			if errors.Is(err, audit.ErrNoSigningKey) {
				return usageError{fmt.Errorf("nothing to rotate: %w", err)}
			}
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintln(cmd.OutOrStdout(), rot.NewVerifierKey); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "new public key: %s\nold key kept as %s\nold public key kept as %s\n"+
				"running proxies keep the old key until they restart; each log records the rotation when it is next opened\n",
				rot.PublicKeyFile, rot.RetiredKeyFile, rot.RetiredPubFile)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&keysDir, "keys-dir", "", "the keys directory (default audit.keys_dir, <data_dir>/keys)")
	f.StringVar(&dir, "dir", "", "the audit directory, where the public keys go (default audit.dir, <data_dir>/audit)")
	return cmd
}
