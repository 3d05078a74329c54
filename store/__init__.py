"""The database: the API's tables and the status projection the workflows keep current."""
