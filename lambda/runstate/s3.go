package runstate

// BucketSource is the source of the flow log objects under a bucket's
// prefix (S3 mode): its checkpoint is the delivery time, in the objects'
// file names, up to which every object has been digested.
func BucketSource(bucket, prefix string) string {
	if prefix == "" {
		return "s3:" + bucket
	}
	return "s3:" + bucket + "/" + prefix
}
