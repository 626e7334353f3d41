package acquire

// Test helpers of the internal tests, exported to the external ones
// (package acquire_test, which can import acquiretest).
var (
	EDFFixtureForTest     = edfFixture
	OpenBCIFixtureForTest = openBCIFixture
)
