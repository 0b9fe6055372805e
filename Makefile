# The two commands of the README. Everything they need is set up by the scripts they call.
.PHONY: demo test
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
