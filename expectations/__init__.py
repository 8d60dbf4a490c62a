"""Great Expectations suites as code. Each suite is a list of rules: a GX expectation plus the words
a person needs when it fails (what is wrong, which column of the file to show)."""
