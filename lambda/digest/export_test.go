package digest

// SetDescribeLimits lowers the DescribeNetworkInterfaces batch and page
// sizes for a test and returns the function that restores them.
func SetDescribeLimits(batch int, page int32) (restore func()) {
	b, p := maxFilterValues, describePageSize
	maxFilterValues, describePageSize = batch, page
	return func() { maxFilterValues, describePageSize = b, p }
}
