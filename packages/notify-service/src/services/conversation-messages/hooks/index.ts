export * from './uuid-conversation-id'
