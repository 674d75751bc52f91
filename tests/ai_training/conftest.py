"""The S3 server of these tests (`s3_endpoint`, moto's server mode) is a fixture of
tests/conftest.py: the video recordings use it too."""
