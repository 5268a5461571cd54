"""rank-movies: rank movies of one day by average rating."""
