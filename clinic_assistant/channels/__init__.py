"""Input channels of the clinic assistant (named in credentials.yml)."""
