package health

import "time"

// Folded returns an onAttempt for Wait that logs probes through logf
// without a line per probe: probes go out ten times a second while an app
// starts, and a minute of them would bury the log. A probe is shown when
// its answer differs from the last one shown (another status, or another
// transport error), or every after it; the probes in between are
// counted on the next line shown. The bodies of answers with the same
// status are not compared: an app that puts its uptime into its body
// would otherwise be logged at every probe.
func Folded(every time.Duration, logf func(format string, args ...any)) func(Attempt) {
	var last Attempt
	hidden := 0
	return func(a Attempt) {
		same := a.Status == last.Status && (a.Status != 0 || a.Detail == last.Detail)
		if last.N > 0 && same && a.At-last.At < every {
			hidden++
			return
		}
		if same && hidden > 0 {
			logf("    probe %s (and %d more alike since #%d)", a, hidden, last.N)
		} else {
			if hidden > 0 {
				logf("    (%d more probe(s) with the same answer)", hidden)
			}
			logf("    probe %s", a)
		}
		hidden = 0
		last = a
	}
}
