module dpready.test/compat

go 1.26
