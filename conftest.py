# Shared fixtures for every test folder (tests/ and images/*/tests): real servers only.
pytest_plugins = ["tests.support.mysql", "tests.support.ratings_api"]
