library(testthat)
library(glmmr)

test_check("glmmr")
