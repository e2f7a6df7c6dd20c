## Builds data/contra.rda from mlmRev::Contraception.
## Run from the package root:  Rscript data-raw/contra.R
##
## The only change from the mlmRev copy is the name of the grouping column:
## `district` becomes `dist`, as in the seed document. Level labels are kept
## as mlmRev stores them ("1", ..., "61"; there is no district 54), so the
## seed's D01, D02, ... correspond to the first, second, ... level.

stopifnot(requireNamespace("mlmRev", quietly = TRUE))

contra <- mlmRev::Contraception
names(contra)[names(contra) == "district"] <- "dist"
contra <- as.data.frame(contra)

stopifnot(
  nrow(contra) == 1934L,
  nlevels(contra$dist) == 60L,
  all(c("dist", "urban", "livch", "age", "use") %in% names(contra))
)

save(contra, file = "data/contra.rda", compress = "xz")
