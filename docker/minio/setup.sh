#!/bin/sh
# One-shot (compose service minio-setup): the SST bucket and an account limited to it.
# Safe to run again: every step checks or replaces what the previous run made.
set -eu

: "${SST_S3_BUCKET:?}" "${SST_S3_ACCESS_KEY_ID:?}" "${SST_S3_SECRET_ACCESS_KEY:?}"

mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "local/$SST_S3_BUCKET"

policy=/tmp/sst-app-policy.json
cat >"$policy" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
     "Resource": ["arn:aws:s3:::$SST_S3_BUCKET"]},
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
     "Resource": ["arn:aws:s3:::$SST_S3_BUCKET/*"]}
  ]
}
JSON
mc admin policy create local sst-app "$policy"
mc admin user add local "$SST_S3_ACCESS_KEY_ID" "$SST_S3_SECRET_ACCESS_KEY"
# Attaching a policy that is already attached is an error for mc; a rerun must not fail.
if ! mc admin user info local "$SST_S3_ACCESS_KEY_ID" | grep -q 'sst-app'; then
    mc admin policy attach local sst-app --user "$SST_S3_ACCESS_KEY_ID"
fi
echo "bucket $SST_S3_BUCKET ready for $SST_S3_ACCESS_KEY_ID"
