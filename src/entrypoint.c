// Forward R's routine registration to the Rust static library, so that the
// linker keeps it and R finds the extendr wrappers.
void R_init_glmmr_extendr(void *dll);

void R_init_glmmr(void *dll) {
    R_init_glmmr_extendr(dll);
}
