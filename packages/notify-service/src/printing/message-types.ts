/** The log's (and the streams') message types of print jobs: a job to print, and a job's new state. */
export const PRINT_JOB = 'print.job'
export const PRINT_JOB_UPDATED = 'print.job.updated'
