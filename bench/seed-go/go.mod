module jobq-bench/seedgo

go 1.20
