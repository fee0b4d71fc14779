/**
 * An email address in the one form it is stored, looked up and rate-limited in: emails compare
 * case-insensitively (users, password resets, logins).
 */
export const normalisedEmail = (email: string) => email.trim().toLowerCase()
