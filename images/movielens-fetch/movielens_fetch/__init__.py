"""fetch-ratings: page through the MovieLens API and write one JSON file."""
