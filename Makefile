# The two set-up commands of README.md live here (this file is .Rbuildignore'd).
#   make main   installs everything, builds and installs glmmr, runs the main job
#               (the seed's gm1: a Bernoulli GLMM of the contra data, nAGQ = 9)
#   make test   runs every test: cargo test for the Rust workspace, its style
#               checks (tools/test-rust-style.sh: rustfmt, clippy), the build
#               set-up tests (tools/test-configure.sh), then R CMD check
#               --as-cran of the built package (tests, examples) without
#               network access, which proves the build from vendored crates

R_DEBS = r-base-dev r-cran-lme4 r-cran-mlmrev r-cran-testthat r-cran-roxygen2 \
         r-cran-knitr r-cran-rmarkdown r-cran-glmmtmb r-cran-callr r-cran-lpsolve \
         r-cran-matrix r-cran-performance r-cran-broom.mixed r-cran-generics \
         r-cran-tibble r-cran-emmeans r-cran-estimability \
         r-cran-boot r-cran-future r-cran-future.apply r-cran-progressr \
         r-cran-lmertest r-cran-pbkrtest \
         r-cran-insight r-cran-parameters r-cran-car r-cran-effects r-cran-ggeffects r-cran-sjplot \
         pandoc qpdf
PKG = glmmr
VERSION = $(shell sed -n 's/^Version: //p' DESCRIPTION)
TARBALL = $(PKG)_$(VERSION).tar.gz
CARGO ?= $(shell command -v cargo || echo $(HOME)/.cargo/bin/cargo)

# R CMD check runs without network access where the system allows it (root,
# or unprivileged user namespaces): in a new network namespace with only the
# loopback interface (brought up when `ip` is there, for tests that use local
# sockets). The package must then build from its vendored crates
# (src/rust/vendor.tar.xz). Elsewhere only cargo is told to stay offline
# (CARGO_NET_OFFLINE; src/Makevars gives it an empty CARGO_HOME).
UNSHARE := $(shell if unshare -n true 2>/dev/null; then echo "unshare -n"; \
             elif unshare -rn true 2>/dev/null; then echo "unshare -rn"; fi)
OFFLINE = $(if $(UNSHARE),$(UNSHARE) sh -c 'ip link set lo up 2>/dev/null; exec "$$@"' offline)

.PHONY: deps build install main test rust-test rust-style configure-test r-check clean

deps:
	@# every Debian package of R_DEBS, installed where one is missing
	@if ! dpkg -s $(R_DEBS) >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(R_DEBS); \
	fi
	@# checkbashisms (R CMD check runs it on configure; without it, a WARNING)
	@command -v checkbashisms >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends devscripts; }
	@test -x "$(CARGO)" || { echo "cargo (Rust) is required: install it with rustup"; exit 1; }
	@$(CARGO) --version
	@# rustfmt and clippy for the style checks (rustup's minimal profile has neither)
	@if ! $(CARGO) fmt --version >/dev/null 2>&1 || ! $(CARGO) clippy --version >/dev/null 2>&1; then \
	  rustup=$$(command -v rustup || echo $(HOME)/.cargo/bin/rustup); \
	  if [ -x "$$rustup" ]; then "$$rustup" component add rustfmt clippy; \
	  else echo "rustfmt and clippy are missing (rustup component add rustfmt clippy)"; fi; \
	fi

build: deps
	R CMD build .

install: build
	R CMD INSTALL $(TARBALL)

main: install
	Rscript -e 'library(glmmr); print(glmmr(use ~ 1 + age + I(age^2) + urban + livch + (1 | dist), contra, family = binomial, nAGQ = 9, contrasts = list(urban = "contr.helmert")))'

rust-test: deps
	cd src/rust && $(CARGO) test -j 2 -p engine

rust-style: deps
	CARGO=$(CARGO) sh tools/test-rust-style.sh

configure-test:
	sh tools/test-configure.sh

r-check: build
	@echo "R CMD check without network: $(if $(UNSHARE),$(UNSHARE),not available here; cargo offline only)"
	CARGO_NET_OFFLINE=true $(OFFLINE) env _R_CHECK_CRAN_INCOMING_REMOTE_=false \
	  _R_CHECK_FORCE_SUGGESTS_=false _R_CHECK_SYSTEM_CLOCK_=0 \
	  R CMD check --as-cran --no-manual $(TARBALL)

test: rust-test rust-style configure-test r-check

clean:
	rm -rf $(PKG).Rcheck $(PKG)_*.tar.gz src/rust/target src/rust/vendor src/.cargo src/*.o src/*.so
