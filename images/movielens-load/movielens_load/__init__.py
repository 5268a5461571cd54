"""load-rankings: load one day of movie rankings into MySQL."""
