"""AIQ: the program pool, the estimators of Upsilon and the AIQ baseline agents."""
