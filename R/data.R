#' Contraceptive use among women in Bangladesh
#'
#' A subsample of the 1989 Bangladesh Fertility Survey: one row per woman,
#' recording whether she was using contraception when interviewed, together
#' with her age, her number of living children, whether she lives in an urban
#' or a rural area, and the district she lives in. Women are nested within
#' 60 districts, which makes the data a standard example of a Bernoulli
#' response with a random intercept for a grouping factor (for example
#' \code{use ~ 1 + age + I(age^2) + urban + livch + (1 | dist)}).
#'
#' The data are those of \code{mlmRev::Contraception}, unchanged except that the
#' column \code{district} is called \code{dist} here. District labels are kept as they
#' are in 'mlmRev' (\code{"1"} to \code{"61"}; there is no district 54), so the first
#' level corresponds to the district that other software labels \code{D01}.
#'
#' @format A data frame with 1,934 rows and 6 columns:
#' \describe{
#'   \item{woman}{Factor with 1,934 levels identifying each woman (one row
#'     per woman).}
#'   \item{dist}{Factor with 60 levels: the district in which the woman
#'     lives. The grouping factor of the usual random-effects term.}
#'   \item{use}{Factor with levels \code{N} and \code{Y}: whether the woman was using
#'     contraception at the time of the survey. The response.}
#'   \item{livch}{Factor with levels \code{0}, \code{1}, \code{2} and \code{3+}: number of living
#'     children at the time of the survey.}
#'   \item{age}{Numeric: the woman's age in years at the time of the survey,
#'     centred near the mean age (negative values are younger than average;
#'     the mean in these data is about 0.002).}
#'   \item{urban}{Factor with levels \code{N} (rural) and \code{Y} (urban): type of
#'     region of residence.}
#' }
#'
#' @source The R package 'mlmRev' (data set \code{Contraception}), which took it
#'   from the multilevel-modelling data collection of the Centre for
#'   Multilevel Modelling, University of Bristol. The survey itself is
#'   described in Huq, N. M. and Cleland, J. (1990) \emph{Bangladesh Fertility
#'   Survey 1989 (Main Report)}. Dhaka: National Institute of Population
#'   Research and Training.
#'
#' @examples
#' str(contra)
#' table(contra$use, contra$urban)
#' head(table(contra$dist))
"contra"

#' Reaction times in a sleep-deprivation study
#'
#' Average daily reaction time of 18 subjects who were allowed only three
#' hours in bed per night, followed over ten consecutive days. Each subject
#' contributes ten observations, so the data are balanced longitudinal data
#' and the classic example of a model with a correlated random intercept and
#' random slope per subject,
#' \code{Reaction ~ 1 + Days + (1 + Days | Subject)}.
#'
#' Days 0 and 1 were for adaptation and training and day 2 was the
#' baseline; the sleep restriction began after day 2. The data are
#' \code{lme4::sleepstudy}, stored as a plain data frame.
#'
#' @format A data frame with 180 rows and 3 columns:
#' \describe{
#'   \item{Reaction}{Numeric: the subject's mean reaction time on that day,
#'     in milliseconds.}
#'   \item{Days}{Numeric, 0 to 9: day of the study (the number of days of
#'     sleep restriction, counted from the start of the study).}
#'   \item{Subject}{Factor with 18 levels: identifying number of the
#'     subject.}
#' }
#'
#' @source The R package 'lme4' (data set \code{sleepstudy}): the most
#'   sleep-restricted group of the study by Belenky, G., Wesensten, N. J.,
#'   Thorne, D. R., Thomas, M. L., Sing, H. C., Redmond, D. P., Russo, M. B.
#'   and Balkin, T. J. (2003) Patterns of performance degradation and
#'   restoration during sleep restriction and subsequent recovery: a sleep
#'   dose-response study. \emph{Journal of Sleep Research}, \strong{12}, 1-12.
#'
#' @examples
#' str(sleepstudy)
#' tapply(sleepstudy$Reaction, sleepstudy$Days, mean)
"sleepstudy"
