package ledger

// Roles is what one run did with the services' roles.
type Roles struct {
	// Shared is what became of each shared service: "db unchanged",
	// "recreated db: its definition changed".
	Shared []string `json:"shared,omitempty"`
	// Jobs are the jobs that ran and how each ended: "migrate exited
	// with code 0".
	Jobs []string `json:"jobs,omitempty"`
	// Singletons are the singletons that changed color.
	Singletons []string `json:"singletons,omitempty"`
}
