//! Enrollment: cohorts (angkatan), self-enrollment, mandatory assignment and its standing rules, capacity with a waitlist, approval, and who may take a course.
