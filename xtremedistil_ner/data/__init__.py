"""Data records, readers, tag vocabulary and batching."""
