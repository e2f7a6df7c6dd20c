# The two set-up commands of README.md live here (this file is .Rbuildignore'd).
#   make main   installs everything, builds and installs glmmr, runs the main job
#               (the seed's gm1: a Bernoulli GLMM of the contra data, nAGQ = 9)
#   make test   runs every test: cargo test for the Rust workspace, then
#               R CMD check --as-cran of the built package (tests, examples)

R_DEBS = r-base-dev r-cran-lme4 r-cran-mlmrev r-cran-testthat r-cran-roxygen2 \
         r-cran-knitr r-cran-rmarkdown r-cran-glmmtmb r-cran-callr r-cran-lpsolve \
         pandoc qpdf
PKG = glmmr
VERSION = $(shell sed -n 's/^Version: //p' DESCRIPTION)
TARBALL = $(PKG)_$(VERSION).tar.gz
CARGO ?= $(shell command -v cargo || echo $(HOME)/.cargo/bin/cargo)

.PHONY: deps build install main test rust-test r-check clean

deps:
	@if ! command -v Rscript >/dev/null || ! Rscript -e 'for (p in c("lme4","mlmRev","testthat")) stopifnot(requireNamespace(p, quietly = TRUE))' >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(R_DEBS); \
	fi
	@test -x "$(CARGO)" || { echo "cargo (Rust) is required: install it with rustup"; exit 1; }
	@$(CARGO) --version

build: deps
	R CMD build .

install: build
	R CMD INSTALL $(TARBALL)

main: install
	Rscript -e 'library(glmmr); print(glmmr(use ~ 1 + age + I(age^2) + urban + livch + (1 | dist), contra, family = binomial, nAGQ = 9, contrasts = list(urban = "contr.helmert")))'

rust-test: deps
	cd src/rust && $(CARGO) test -j 2 -p engine

r-check: build
	_R_CHECK_CRAN_INCOMING_REMOTE_=false _R_CHECK_FORCE_SUGGESTS_=false _R_CHECK_SYSTEM_CLOCK_=0 \
	  R CMD check --as-cran --no-manual $(TARBALL)

test: rust-test r-check

clean:
	rm -rf $(PKG).Rcheck $(PKG)_*.tar.gz src/rust/target src/*.o src/*.so
