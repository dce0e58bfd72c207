"""Text: Arabic folding, sentence segmentation, articles and the input files they come from."""
