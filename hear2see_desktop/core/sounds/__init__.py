"""Sound events: an AudioSet tagger over the take, and the visual words its events add to the scenes."""
