"""Privacy-preserving topic clusters of conversation summaries, in the manner of Clio."""
