package nginx

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestErrorLogSinceKeepsTheLastFive: of the master's error lines after the
// offset, repeats are counted on one line and the last five are kept.
func TestErrorLogSinceKeepsTheLastFive(t *testing.T) {
	t.Parallel()
	fs := newFakeProcfs(t)
	fs.add(10, 1, 100, "nginx: master process nginx")
	log := fs.errorLog(10)
	appendFile(t, log, "2024/06/30 10:00:00 [emerg] 10#10: before the offset\n")
	_, size, ok := errorLog(fs.root, 10)
	assert.True(t, ok)
	for i := 1; i <= 6; i++ {
		appendFile(t, log, fmt.Sprintf("2024/06/30 10:00:01 [emerg] 10#10: problem %d\n", i))
	}
	appendFile(t, log, "2024/06/30 10:00:01 [notice] 10#10: not an error\n")
	appendFile(t, log, "2024/06/30 10:00:01 [emerg] 10#10: problem 6\n")
	appendFile(t, log, "2024/06/30 10:00:02 [crit] 10#10: once\n")
	assert.Equal(t, []string{
		"2024/06/30 10:00:01 [emerg] 10#10: problem 3",
		"2024/06/30 10:00:01 [emerg] 10#10: problem 4",
		"2024/06/30 10:00:01 [emerg] 10#10: problem 5",
		"2024/06/30 10:00:01 [emerg] 10#10: problem 6 (2 times)",
		"2024/06/30 10:00:02 [crit] 10#10: once",
	}, errorLogSince(fs.root, 10, size))
}
