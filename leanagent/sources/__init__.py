"""Where traced data comes from: LeanDojo-format datasets, git repositories, LeanDojo tracing, sorry scanning."""
