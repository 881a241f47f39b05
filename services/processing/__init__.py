"""Processing: opens a case for every request and moves it through its states on deadlines."""
