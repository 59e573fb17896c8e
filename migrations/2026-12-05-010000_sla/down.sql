DELETE FROM notifications WHERE notification_type LIKE 'sla_missed_%';
ALTER TABLE notifications DROP CONSTRAINT notifications_notification_type_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_notification_type_check
    CHECK (notification_type IN (
        'conversation_creation', 'conversation_assignment', 'assigned_conversation_new_message',
        'conversation_mention', 'participating_conversation_new_message'));
DROP TABLE sla_events;
DROP TABLE applied_slas;
DROP TABLE sla_policies;
