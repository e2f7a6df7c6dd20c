## Builds data/sleepstudy.rda from lme4::sleepstudy.
## Run from the package root:  Rscript data-raw/sleepstudy.R

stopifnot(requireNamespace("lme4", quietly = TRUE))

sleepstudy <- as.data.frame(lme4::sleepstudy)
attr(sleepstudy, "row.names") <- seq_len(nrow(sleepstudy))

stopifnot(
  nrow(sleepstudy) == 180L,
  nlevels(sleepstudy$Subject) == 18L,
  identical(names(sleepstudy), c("Reaction", "Days", "Subject"))
)

save(sleepstudy, file = "data/sleepstudy.rda", compress = "xz")
